// Package offsite holds what the module root alone can reach: the annotated
// example config, embedded so `offsite init --example` writes the same file
// that ships beside the program (go:embed cannot reach a parent folder).
package offsite

import _ "embed"

//go:embed config.example.yaml
var exampleConfig string

// ExampleConfig returns config.example.yaml: every key, with comments.
func ExampleConfig() string { return exampleConfig }
