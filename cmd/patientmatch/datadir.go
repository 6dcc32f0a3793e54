package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// requireDataDir refuses a data folder that does not exist or holds no
// store, for the commands that only read one (match, export): opening it
// would create an empty store and answer "no matches" or export nothing,
// which hides a mistyped --data.
func requireDataDir(dir string) error {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("data folder %s does not exist: give the folder patients were loaded into with --data (or PATIENTMATCH_DATA), or load some first: patientmatch load --data %s FILE", dir, dir)
	case err != nil:
		return fmt.Errorf("data folder: %w", err)
	case !fi.IsDir():
		return fmt.Errorf("data folder %s is not a directory", dir)
	}
	if _, err := os.Stat(filepath.Join(dir, "store")); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%s is not a patientmatch data folder (it has no store/): give the folder patients were loaded into with --data, or load some first: patientmatch load --data %s FILE", dir, dir)
		}
		return fmt.Errorf("data folder: %w", err)
	}
	return nil
}
