package migrations

// Apply runs the given steps, so tests can stop the schema at an older step.
var Apply = apply
