# Helpers the example policies share: the resources a plan leaves in place, and which
# EKS node groups are GPU pools.
package lib.plan

# Every resource instance of type `t` that exists after the plan (created, updated,
# replaced or kept), as its entry of the JSON plan's resource_changes.
resources(t) := [rc |
	some rc in input.resource_changes
	rc.type == t
	rc.change.after != null
]

# The module a resource change belongs to ("" for the root module).
module_of(rc) := object.get(rc, "module_address", "")

# EC2 instance families with NVIDIA GPUs: P (p3, p4d, p5, p5e, p6-b200, ...),
# G (g4dn, g5, g6, g6e, ...) and Gr6. g4ad (AMD) and Inferentia/Trainium are not.
gpu_instance_type(t) if {
	regex.match(`^(p[2-9][a-z0-9-]*|g[3-9][a-z0-9]*|gr6)\.`, t)
	not startswith(t, "g4ad.")
}

# A node group is a GPU pool when one of its instance types is, or when it runs a GPU
# AMI (AL2_x86_64_GPU, AL2023_x86_64_NVIDIA, BOTTLEROCKET_x86_64_NVIDIA).
gpu_node_group(after) if {
	some t in after.instance_types
	gpu_instance_type(t)
}

gpu_node_group(after) if {
	ami := object.get(after, "ami_type", "")
	is_string(ami)
	regex.match(`GPU|NVIDIA`, ami)
}
