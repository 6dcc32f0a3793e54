// Package docstest holds the test that runs the repository's documentation:
// every shell example in README.md and the package READMEs is extracted,
// run against a real patientmatch server (built from this tree, demo data
// loaded, free loopback ports) and its output compared with the answer the
// README documents. See docs_test.go; the package has no other code.
package docstest
