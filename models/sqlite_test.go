package models_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"gorm.io/gorm"

	"github.com/parley-comments/parley/models/dbtest"
)

// TestWriterReusesStatements: a statement met again in later transactions
// (prepared on the pool after the first) still writes what it is given, a
// failing one is still undone alone, and concurrent writers all land.
func TestWriterReusesStatements(t *testing.T) {
	s := dbtest.OpenEmpty(t)
	if err := s.Write.AutoMigrate(&row{}); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	for i := range 20 {
		err := s.WriteTx(t.Context(), func(tx *gorm.DB) error {
			if err := tx.Create(&row{Value: fmt.Sprint(i)}).Error; err != nil {
				return err
			}
			if err := tx.Exec("UPDATE rows SET value = value || '!' WHERE value = ?", fmt.Sprint(i)).Error; err != nil {
				return err
			}
			if i%5 == 4 {
				return boom
			}
			return nil
		})
		if (i%5 == 4) != errors.Is(err, boom) {
			t.Fatalf("write %d: err = %v", i, err)
		}
	}
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.WriteTx(t.Context(), func(tx *gorm.DB) error { return tx.Create(&row{Value: fmt.Sprint("c", i)}).Error }); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	var values []string
	s.Read.Model(&row{}).Where("value LIKE ?", "%!").Order("id").Pluck("value", &values)
	if len(values) != 16 || values[0] != "0!" || values[15] != "18!" {
		t.Fatalf("updated rows = %v, want 16 from 0! to 18!", values)
	}
	var n int64
	s.Read.Model(&row{}).Count(&n)
	if n != 66 {
		t.Fatalf("stored %d rows, want 66", n)
	}
}

// TestWritesCounts: every committed write moves Store.Writes, reads do not.
func TestWritesCounts(t *testing.T) {
	s := dbtest.OpenEmpty(t)
	if dbtest.Backend() == "postgres" {
		if _, ok := s.Writes(); ok {
			t.Fatal("Writes claims to know every write on PostgreSQL")
		}
		return
	}
	if err := s.Write.AutoMigrate(&row{}); err != nil {
		t.Fatal(err)
	}
	last, _ := s.Writes()
	for _, tc := range []struct {
		name   string
		do     func() error
		counts bool
	}{
		{"WriteTx", func() error {
			return s.WriteTx(t.Context(), func(tx *gorm.DB) error { return tx.Create(&row{Value: "a"}).Error })
		}, true},
		{"Create outside WriteTx", func() error { return s.Write.Create(&row{Value: "b"}).Error }, true},
		{"Exec", func() error { return s.Write.Exec("UPDATE rows SET value = 'c' WHERE value = 'b'").Error }, true},
		{"Transaction", func() error {
			return s.Write.Transaction(func(tx *gorm.DB) error { return tx.Model(&row{}).Where("value = ?", "c").Update("value", "d").Error })
		}, true},
		{"a read", func() error { var n int64; return s.Read.Model(&row{}).Count(&n).Error }, false},
	} {
		if err := tc.do(); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		now, ok := s.Writes()
		if !ok || (now > last) != tc.counts {
			t.Fatalf("%s: Writes went from %d to %d (ok %v); want a change: %v", tc.name, last, now, ok, tc.counts)
		}
		last = now
	}
}
