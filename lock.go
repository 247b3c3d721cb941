package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockDataDir takes an exclusive lock on the data dir: two processes writing
// one SQLite file through two write queues would serialize on the file lock
// and answer "database is locked" instead of batching.
func lockDataDir(dir string) (func(), error) {
	path := filepath.Join(dir, "parley.lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			if abs, err := filepath.Abs(dir); err == nil {
				dir = abs
			}
			return nil, fmt.Errorf("another Parley process is using the data directory %s; stop it first or set PARLEY_DATA_DIR", dir)
		}
		return nil, fmt.Errorf("lock data dir: %w", err)
	}
	return func() { f.Close() }, nil
}
