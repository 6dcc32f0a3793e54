//go:build !linux

package residency

// Release is not supported here: it returns ErrUnsupported.
func Release(dir string) (Released, error) { return Released{}, ErrUnsupported }
