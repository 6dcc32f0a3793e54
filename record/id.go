package record

// MaxIDLen is the longest FHIR logical id.
const MaxIDLen = 64

// ValidID reports whether id is a FHIR R4 logical id (the id datatype):
// 1 to 64 of A-Z, a-z, 0-9, '-' and '.'. It is the one id rule of every
// write (FHIR REST, gRPC, the engine).
func ValidID(id string) bool {
	if len(id) == 0 || len(id) > MaxIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}
