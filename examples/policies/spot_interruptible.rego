# Spot capacity only for GPU pools marked interruptible: a GPU node group with
# capacity_type SPOT carries the node label plinth.dev/interruptible = "true", which
# the workloads that can be preempted (batch jobs, checkpointed training) select
# with a nodeSelector. Serving pools stay on on-demand capacity.
package main

interruptible_label := "plinth.dev/interruptible"

deny contains msg if {
	some group in data.lib.plan.resources("aws_eks_node_group")
	group.change.after.capacity_type == "SPOT"
	data.lib.plan.gpu_node_group(group.change.after)
	not marked_interruptible(group.change.after)
	msg := sprintf("%s: a SPOT GPU node group must be labelled %s = \"true\"", [group.address, interruptible_label])
}

marked_interruptible(after) if {
	labels := object.get(after, "labels", {})
	labels[interruptible_label] == "true"
}
