//! One run of one stack: lock, refresh, plan, act by mode within the guardrails.
