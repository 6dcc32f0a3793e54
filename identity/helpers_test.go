package identity

import (
	"errors"

	"github.com/patientmatch/patientmatch/internal/memkv"
)

func errorsIs(err, target error) bool { return errors.Is(err, target) }

// NewMemKV is the in-memory KV the tests keep their state in.
func NewMemKV() *memkv.KV { return memkv.New() }
