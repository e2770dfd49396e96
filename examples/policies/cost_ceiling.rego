# A ceiling on what the stack costs per month after the plan, read from the cost
# figures plinth adds to the policy input (input.cost, Infracost's field names:
# totalMonthlyCost, pastTotalMonthlyCost, diffTotalMonthlyCost as decimal strings,
# null where a price is unknown).
package main

# The most the stack may cost per month, in the catalog's currency (USD). Edit me.
monthly_cost_ceiling := 50000

deny contains msg if {
	total := to_number(input.cost.totalMonthlyCost)
	total > monthly_cost_ceiling
	msg := sprintf("the monthly cost after this plan, %v, is over the ceiling of %v", [input.cost.totalMonthlyCost, monthly_cost_ceiling])
}

warn contains "the policy input has no cost figures: the monthly cost ceiling was not checked" if {
	not input.cost
}

warn contains "the monthly cost after this plan is not known (a price is missing): the ceiling was not checked" if {
	input.cost
	input.cost.totalMonthlyCost == null
}

# The totals add up what has a price: a resource whose price is unknown is left out,
# so the ceiling may be passed without this policy seeing it.
warn contains msg if {
	unknown := object.get(input.cost, ["summary", "totalUnknownResources"], 0)
	unknown > 0
	msg := sprintf("%v resources have no known price and are not in the monthly total checked against the ceiling", [unknown])
}
