package record

import "errors"

// ErrInvalid marks input that cannot become a record: JSON that is not a
// FHIR Patient, a CSV row without an id, a malformed line. Callers classify
// with errors.Is and report the wrapped detail to the user.
var ErrInvalid = errors.New("record: invalid input")
