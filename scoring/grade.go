package scoring

// Grade is the decision a match probability supports, as FHIR's match-grade
// extension codes it. Grades are ordered: a higher grade is a stronger claim.
type Grade uint8

// Grades, weakest first. GradeNone means "not worth showing".
const (
	GradeNone Grade = iota
	GradePossible
	GradeProbable
	GradeCertain
)

// String returns the FHIR match-grade code ("certain", "probable",
// "possible"), or "none" for GradeNone.
func (g Grade) String() string {
	switch g {
	case GradeCertain:
		return "certain"
	case GradeProbable:
		return "probable"
	case GradePossible:
		return "possible"
	default:
		return "none"
	}
}

// ParseGrade is the inverse of Grade.String; ok is false for unknown codes.
func ParseGrade(s string) (g Grade, ok bool) {
	switch s {
	case "certain":
		return GradeCertain, true
	case "probable":
		return GradeProbable, true
	case "possible":
		return GradePossible, true
	case "none":
		return GradeNone, true
	}
	return GradeNone, false
}
