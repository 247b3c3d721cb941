// Package migrations holds Parley's schema as numbered, append-only steps.
// Each step is recorded in schema_migrations when applied, so running Up
// again changes nothing. A shipped step is never edited: changes come as a
// new step, and each step declares the tables as they were at that step.
package migrations

import (
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
	if db.Dialector.Name() != "postgres" {
		return migrate(db, steps)
	}
	// Up may run in several instances at once and only one may migrate. The
	// advisory lock belongs to a session, so the lock, the steps and the
	// unlock all run on one reserved connection: an unlock sent down another
	// pooled connection would leave the lock held.
	return db.Connection(func(reserved *gorm.DB) (err error) {
		// A new session, so that one statement's state (its model, its
		// table) does not carry over into the next.
		conn := reserved.Session(&gorm.Session{})
		// Waiting for another instance's migration, and a step rewriting a
		// large table, may take longer than a request's timeouts.
		if err := conn.Exec("SET statement_timeout = 0; SET idle_in_transaction_session_timeout = 0").Error; err != nil {
			return fmt.Errorf("lock migrations: %w", err)
		}
		if err := conn.Exec("SELECT pg_advisory_lock(?)", pgLockKey).Error; err != nil {
			return fmt.Errorf("lock migrations: %w", err)
		}
		defer func() {
			if uerr := conn.Exec("SELECT pg_advisory_unlock(?)", pgLockKey).Error; uerr != nil && err == nil {
				err = fmt.Errorf("unlock migrations: %w", uerr)
			}
			// Back to the pool with the session defaults.
			_ = conn.Exec("RESET statement_timeout; RESET idle_in_transaction_session_timeout").Error
		}()
		return migrate(conn, steps)
	})
}

// migrate applies the steps not yet recorded, each in its own transaction.
func migrate(db *gorm.DB, steps []Step) error {
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
