# GPU node groups carry the nvidia.com/gpu taint, so that only pods asking for GPUs
# (and tolerating the taint, as the NVIDIA device plugin's do) are scheduled there.
package main

deny contains msg if {
	some group in data.lib.plan.resources("aws_eks_node_group")
	data.lib.plan.gpu_node_group(group.change.after)
	not gpu_taint(group.change.after)
	msg := sprintf("%s: a GPU node group must carry the taint nvidia.com/gpu with effect NO_SCHEDULE or NO_EXECUTE", [group.address])
}

gpu_taint(after) if {
	some taint in object.get(after, "taint", [])
	taint.key == "nvidia.com/gpu"
	taint.effect in {"NO_SCHEDULE", "NO_EXECUTE"}
}
