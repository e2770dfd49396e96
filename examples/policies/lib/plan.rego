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

# EC2 instance families with NVIDIA GPUs (the part of the type before the dot). g4ad
# (AMD GPUs), Inferentia (inf*) and Trainium (trn*) are not among them.
nvidia_gpu_families := {
	"p2", "p3", "p3dn", "p4d", "p4de", "p5", "p5e", "p5en", "p6-b200", "p6e-gb200",
	"g3", "g3s", "g4dn", "g5", "g5g", "g6", "g6e", "g6f", "gr6", "gr6f",
}

gpu_instance_type(t) if split(t, ".")[0] in nvidia_gpu_families

# A node group is a GPU pool when one of its instance types is, or when it runs a GPU
# AMI (AL2_x86_64_GPU, AL2023_x86_64_NVIDIA, BOTTLEROCKET_x86_64_NVIDIA).
gpu_node_group(after) if {
	some t in after.instance_types
	gpu_instance_type(t)
}

gpu_node_group(after) if {
	ami := object.get(after, "ami_type", "")
	is_string(ami)
	some marker in ["GPU", "NVIDIA"]
	contains(ami, marker)
}
