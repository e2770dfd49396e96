output "steps" {
  description = "The Jobs of the run, in order."
  value = [
    kubernetes_job_v1.prepare.metadata[0].name,
    kubernetes_job_v1.finetune.metadata[0].name,
    kubernetes_job_v1.evaluate.metadata[0].name,
  ]
}

output "checkpoint" {
  description = "Where the fine-tuned weights are written."
  value       = local.checkpoint
}

output "eval_report" {
  value = local.eval_report
}
