// Package messages holds SuperBot's wire messages, generated from
// proto/superbot/v1 (never edit the .pb.go files: run `make proto`), and a few
// small helpers to build events and errors.
package messages
