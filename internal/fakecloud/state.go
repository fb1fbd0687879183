package fakecloud

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// LoadState reads an emulator's saved state from path into v. It reports
// false, with no error, when nothing was saved yet.
func LoadState(path string, v any) (bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("%s is damaged: %w", path, err)
	}
	return true, nil
}

// SaveState writes v to path through a temp file and a rename, so a killed
// emulator leaves the old state or the new one, never half of each.
func SaveState(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
