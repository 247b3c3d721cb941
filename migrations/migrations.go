// Package migrations holds Parley's schema as numbered, append-only steps.
// Each step is recorded in schema_migrations when applied, so running Up
// again changes nothing. A shipped step is never edited: changes come as a
// new step, and each step declares the tables as they were at that step.
package migrations

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Step is one schema change.
type Step struct {
	ID string
	Up func(tx *gorm.DB) error
}

type schemaMigration struct {
	ID        string `gorm:"primaryKey;size:128"`
	AppliedAt time.Time
}

// pgLockKey serializes migrations across API instances sharing one PostgreSQL.
const pgLockKey = 7_455_811_302

// Up applies the pending steps in order, each in its own transaction.
func Up(db *gorm.DB) error {
	return apply(db, Steps)
}

// Applied lists the recorded step IDs.
func Applied(db *gorm.DB) ([]string, error) {
	var ids []string
	err := db.Model(&schemaMigration{}).Order("id").Pluck("id", &ids).Error
	return ids, err
}

func apply(db *gorm.DB, steps []Step) error {
	postgres := db.Dialector.Name() == "postgres"
	if postgres {
		// A session lock on a dedicated connection: Up may run in several
		// instances at once and only one may migrate. The wait for it may
		// be longer than a request's statement_timeout.
		sqlDB, err := db.DB()
		if err != nil {
			return err
		}
		ctx := context.Background()
		conn, err := sqlDB.Conn(ctx)
		if err != nil {
			return fmt.Errorf("lock migrations: %w", err)
		}
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, "SET statement_timeout = 0"); err != nil {
			return fmt.Errorf("lock migrations: %w", err)
		}
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", pgLockKey); err != nil {
			return fmt.Errorf("lock migrations: %w", err)
		}
		defer func() {
			_, _ = conn.ExecContext(ctx, "SELECT pg_advisory_unlock($1)", pgLockKey)
			_, _ = conn.ExecContext(ctx, "RESET statement_timeout")
		}()
	}
	if err := db.Migrator().AutoMigrate(&schemaMigration{}); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	done, err := Applied(db)
	if err != nil {
		return fmt.Errorf("read schema_migrations: %w", err)
	}
	applied := make(map[string]bool, len(done))
	for _, id := range done {
		applied[id] = true
	}
	for _, s := range steps {
		if applied[s.ID] {
			continue
		}
		err := db.Transaction(func(tx *gorm.DB) error {
			if postgres {
				// A step may rewrite a large table: no request timeout.
				if err := tx.Exec("SET LOCAL statement_timeout = 0").Error; err != nil {
					return err
				}
			}
			if err := s.Up(tx); err != nil {
				return err
			}
			return tx.Create(&schemaMigration{ID: s.ID, AppliedAt: time.Now().UTC()}).Error
		})
		if err != nil {
			return fmt.Errorf("migration %s: %w", s.ID, err)
		}
	}
	return nil
}
