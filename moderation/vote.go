package moderation

import (
	"context"
	"fmt"

	"gorm.io/gorm"

	"github.com/parley-comments/parley/events"
	"github.com/parley-comments/parley/models"
)

// VoteResult is a comment's score after a vote, and the voter's vote.
type VoteResult struct {
	Score  int
	MyVote int
}

// Vote sets the user's vote on a public comment to value (1, -1, or 0 to
// withdraw it). Voting on one's own comment is refused.
func (s *Service) Vote(ctx context.Context, id uint, voter *models.User, value int) (VoteResult, error) {
	if value < -1 || value > 1 {
		return VoteResult{}, invalid("value must be 1, -1 or 0", map[string]string{"value": "must be 1, -1 or 0"})
	}
	c, err := s.votable(ctx, id, voter)
	if err != nil {
		return VoteResult{}, fmt.Errorf("vote on comment %d: %w", id, err)
	}
	if voter.ActiveBan(s.Now()) == models.BanShadow {
		// A shadow-banned voter is answered as if the vote counted, but
		// nothing is stored: their votes must not move public scores.
		return VoteResult{Score: c.Score + value, MyVote: value}, nil
	}
	out := VoteResult{MyVote: value}
	err = s.Store.WriteTx(ctx, func(tx *gorm.DB) error {
		delta, err := models.SetVote(tx, id, voter.ID, c.ArticleID, value, s.Now())
		if err != nil {
			return err
		}
		if delta != 0 {
			if err := models.TouchArticle(tx, c.ArticleID, 0); err != nil {
				return err
			}
			if err := record(tx, s.Now(), events.CommentVoted, c, true); err != nil {
				return err
			}
		}
		out.Score, err = models.Score(tx, id)
		return err
	})
	if err != nil {
		return VoteResult{}, fmt.Errorf("vote on comment %d: %w", id, err)
	}
	return out, nil
}

// votable returns the comment if voter may vote on it: not banned, the
// comment public, and not their own.
func (s *Service) votable(ctx context.Context, id uint, voter *models.User) (*models.Comment, error) {
	if voter.ActiveBan(s.Now()) == models.BanNormal {
		return nil, ErrBanned
	}
	c, err := s.Get(ctx, id, voter)
	if err != nil {
		return nil, err
	}
	if c.Status != models.StatusApproved || c.Shadow {
		return nil, models.ErrNotFound
	}
	if c.AuthorID != nil && *c.AuthorID == voter.ID {
		return nil, refusalf(ErrForbidden, "you cannot vote on your own comment")
	}
	return c, nil
}
