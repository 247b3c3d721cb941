package models

import (
	"errors"
	"time"

	"gorm.io/gorm"
)

// Vote is one user's vote on one comment. ArticleID is the comment's
// article, kept on the vote so a reader's votes on a thread are one index range.
type Vote struct {
	CommentID uint `gorm:"primaryKey;autoIncrement:false"`
	UserID    uint `gorm:"primaryKey;autoIncrement:false"`
	ArticleID uint `gorm:"not null"`
	Value     int  `gorm:"not null"`
	CreatedAt time.Time
}

// SetVote sets userID's vote on a comment of articleID to value (1, -1, or
// 0 to withdraw it), in the caller's transaction, and moves the comment's
// score with it. It returns how far the score moved.
func SetVote(tx *gorm.DB, commentID, userID, articleID uint, value int, now time.Time) (delta int, err error) {
	var old Vote
	err = tx.Where("comment_id = ? AND user_id = ?", commentID, userID).Take(&old).Error
	if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
		return 0, err
	}
	mine := tx.Where("comment_id = ? AND user_id = ?", commentID, userID)
	switch {
	case value == old.Value:
		return 0, nil
	case value == 0:
		err = mine.Delete(&Vote{}).Error
	case old.Value == 0:
		err = tx.Create(&Vote{CommentID: commentID, UserID: userID, ArticleID: articleID, Value: value, CreatedAt: now}).Error
	default:
		err = tx.Model(&Vote{}).Where("comment_id = ? AND user_id = ?", commentID, userID).Update("value", value).Error
	}
	if err != nil {
		return 0, err
	}
	delta = value - old.Value
	return delta, tx.Model(&Comment{}).Where("id = ?", commentID).Update("score", gorm.Expr("score + ?", delta)).Error
}

// Score reads a comment's score, in the caller's transaction.
func Score(tx *gorm.DB, commentID uint) (int, error) {
	var score int
	err := tx.Model(&Comment{}).Where("id = ?", commentID).Pluck("score", &score).Error
	return score, err
}
