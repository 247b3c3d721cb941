package models_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"gorm.io/gorm"

	"github.com/parley-comments/parley/models"
	"github.com/parley-comments/parley/models/dbtest"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

func TestSQLitePragmas(t *testing.T) {
	s, err := models.Open(models.Options{Path: filepath.Join(t.TempDir(), "p.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for pragma, want := range map[string]string{"journal_mode": "wal", "synchronous": "2", "foreign_keys": "1", "busy_timeout": "5000"} {
		var got string
		s.Write.Raw("PRAGMA " + pragma).Scan(&got)
		if got != want {
			t.Errorf("writer %s = %s, want %s", pragma, got, want)
		}
	}
	// Readers cannot write, whatever a handler does by mistake.
	if err := s.Read.Exec("CREATE TABLE nope (id int)").Error; err == nil {
		t.Fatal("the read pool accepted a write")
	}
}

type row struct {
	ID    uint `gorm:"primaryKey"`
	Value string
}

func TestWriteTxIsolatesFailures(t *testing.T) {
	s := dbtest.OpenEmpty(t)
	if err := s.Write.AutoMigrate(&row{}); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	var wg sync.WaitGroup
	errs := make([]error, 200)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.WriteTx(t.Context(), func(tx *gorm.DB) error {
				if err := tx.Create(&row{Value: fmt.Sprint(i)}).Error; err != nil {
					return err
				}
				if i%10 == 0 {
					return boom // this write must vanish, the others stay
				}
				return nil
			})
		}()
	}
	wg.Wait()
	var failed int
	for i, err := range errs {
		switch {
		case i%10 == 0 && !errors.Is(err, boom):
			t.Fatalf("write %d: err = %v, want boom", i, err)
		case i%10 != 0 && err != nil:
			t.Fatalf("write %d: %v", i, err)
		case err != nil:
			failed++
		}
	}
	var n int64
	s.Read.Model(&row{}).Count(&n)
	if n != int64(len(errs)-failed) {
		t.Fatalf("stored %d rows, want %d", n, len(errs)-failed)
	}
	var bad int64
	s.Read.Model(&row{}).Where("value IN ?", []string{"0", "10", "20"}).Count(&bad)
	if bad != 0 {
		t.Fatal("a failed write's row was committed")
	}
}

func TestWriteTxPanicIsAnError(t *testing.T) {
	s := dbtest.OpenEmpty(t)
	err := s.WriteTx(t.Context(), func(tx *gorm.DB) error { panic("bad") })
	if err == nil {
		t.Fatal("a panicking write reported success")
	}
	if err := s.WriteTx(t.Context(), func(tx *gorm.DB) error { return nil }); err != nil {
		t.Fatalf("store unusable after a panic: %v", err)
	}
}

func TestPostgresOverloadIsBusy(t *testing.T) {
	for code, want := range map[string]error{"53300": models.ErrBusy, "57014": models.ErrBusy, "40P01": models.ErrBusy, "53100": models.ErrFull} {
		err := models.MapError(fmt.Errorf("query: %w", &pgconn.PgError{Code: code}))
		if !errors.Is(err, want) {
			t.Errorf("SQLSTATE %s maps to %v, want %v", code, err, want)
		}
	}
	if err := models.MapError(&pgconn.PgError{Code: "23505"}); errors.Is(err, models.ErrBusy) {
		t.Error("a unique violation was taken for overload")
	}
}
