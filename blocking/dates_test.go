package blocking

import (
	"strconv"
	"strings"

	"github.com/patientmatch/patientmatch/record"
)

// parseDate reads YYYY, YYYY-MM or YYYY-MM-DD into a Date as the unit tests
// write them (any digits, on the calendar or not); anything else is kept
// as Text.
func parseDate(s string) record.Date {
	d := record.Date{Text: s}
	if s == "" {
		return d
	}
	parts := strings.Split(s, "-")
	nums := make([]int, 0, 3)
	for _, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil {
			return d
		}
		nums = append(nums, n)
	}
	switch len(nums) {
	case 3:
		d.Day = nums[2]
		fallthrough
	case 2:
		d.Month = nums[1]
		fallthrough
	case 1:
		d.Year = nums[0]
	}
	d.Valid = true
	return d
}
