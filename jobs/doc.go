// Package jobs is ofp's cron scheduler: a registry of named jobs with cron
// schedules (robfig/cron, with seconds optional and descriptors such as
// @hourly), single-run locking (a job never overlaps itself; across
// replicas through a Locker such as a PostgreSQL advisory lock), a run
// history, manual triggers, and an admin HTTP API to see and trigger jobs.
//
// Jobs never run servers: a job is a function that does bounded work and
// returns.
package jobs
