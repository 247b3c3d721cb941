package models

import "time"

// DefaultSite is the id of the site that exists from the start: articles
// made before sites existed belong to it, and PARLEY_ALLOWED_ORIGINS
// configures its origins.
const DefaultSite = "default"

// Site is one blog served by this Parley. ID appears in URLs and in the
// embed code (data-site). Origins are the scheme://host[:port] its pages live
// on. AutoThreads lets a first comment create a page's thread; KeepQuery makes
// the query string part of its thread keys. Rules is a moderation rules
// document of its own (JSON), or empty for the global rules.
//
// The bool columns default to true and false in the schema; the tags carry no
// default so that GORM writes a false AutoThreads instead of leaving it out.
type Site struct {
	ID          string   `gorm:"primaryKey;size:64"`
	Name        string   `gorm:"size:100;not null"`
	Origins     []string `gorm:"serializer:json;not null"`
	AutoThreads bool     `gorm:"not null"`
	KeepQuery   bool     `gorm:"not null"`
	Rules       string   `gorm:"not null"`
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// ModeratorSite limits a moderator to one site; a moderator with no rows
// moderates every site.
type ModeratorSite struct {
	UserID uint   `gorm:"primaryKey;autoIncrement:false"`
	SiteID string `gorm:"primaryKey;size:64"`
}
