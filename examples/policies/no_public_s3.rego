# No S3 bucket open to the public.
#
# - every aws_s3_bucket_public_access_block sets all four protections to true;
# - every aws_s3_bucket has a public access block in the same module (plinth's
#   weights-bucket module pairs them);
# - no canned ACL or grant gives the public (AllUsers) or any AWS account
#   (AuthenticatedUsers) access, on aws_s3_bucket_acl or the bucket's legacy `acl`.
package main

protections := [
	"block_public_acls",
	"block_public_policy",
	"ignore_public_acls",
	"restrict_public_buckets",
]

public_acls := {"public-read", "public-read-write", "authenticated-read"}

public_groups := {
	"http://acs.amazonaws.com/groups/global/AllUsers",
	"http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
}

deny contains msg if {
	some block in data.lib.plan.resources("aws_s3_bucket_public_access_block")
	some setting in protections
	object.get(block.change.after, setting, null) != true
	msg := sprintf("%s: %s must be true (no public S3 bucket)", [block.address, setting])
}

# The modules (by address, "" for the root) that hold a public access block.
s3_modules_with_public_access_block contains data.lib.plan.module_of(block) if {
	some block in data.lib.plan.resources("aws_s3_bucket_public_access_block")
}

deny contains msg if {
	some bucket in data.lib.plan.resources("aws_s3_bucket")
	not data.lib.plan.module_of(bucket) in s3_modules_with_public_access_block
	msg := sprintf("%s: no aws_s3_bucket_public_access_block in its module (no public S3 bucket)", [bucket.address])
}

deny contains msg if {
	some type in ["aws_s3_bucket_acl", "aws_s3_bucket"]
	some rc in data.lib.plan.resources(type)
	acl := object.get(rc.change.after, "acl", "")
	acl in public_acls
	msg := sprintf("%s: ACL \"%s\" makes the bucket public", [rc.address, acl])
}

deny contains msg if {
	some rc in data.lib.plan.resources("aws_s3_bucket_acl")
	some policy in object.get(rc.change.after, "access_control_policy", [])
	some grant in policy.grant
	some grantee in grant.grantee
	grantee.uri in public_groups
	msg := sprintf("%s: a grant to %s makes the bucket public", [rc.address, grantee.uri])
}
