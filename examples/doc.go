// Package examples holds desired.yaml files people can start from. It has
// no code; its test checks that every example validates against the schema
// and against the JSON Schema that `rdd schema --format jsonschema` prints.
package examples
