package migrations

// Apply runs the given steps, so tests can stop the schema at an older step.
var Apply = apply

// LockKey is the PostgreSQL advisory lock Up holds while it migrates.
const LockKey = pgLockKey
