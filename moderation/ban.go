package moderation

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/parley-comments/parley/events"
	"github.com/parley-comments/parley/fault"
	"github.com/parley-comments/parley/models"
)

// maxBanHours caps a temporary ban at ten years; longer is what a permanent ban is for.
const maxBanHours = 24 * 365 * 10

// BanRequest is a moderator's ban of a user.
type BanRequest struct {
	Reason string
	// Shadow makes the ban silent: the user's new comments are shown to
	// themselves and to moderators only.
	Shadow bool
	// DurationHours ends the ban after that many hours; nil bans for good.
	DurationHours *int
	// Purge rejects every comment the user has that is pending or approved.
	Purge bool
}

// Ban bans a user. Nobody bans themselves or an admin, and only an admin bans
// a moderator (ErrForbidden). A normal ban bumps the user's token version, so
// their access tokens stop working at once (they may sign in again to read);
// a shadow ban does not, as a forced sign-out would give it away. A new ban
// replaces one in force. The user row, the ban record, the purge (each
// comment's status, flags and audit entry) and the ban's audit entry are
// written in one transaction.
func (s *Service) Ban(ctx context.Context, userID uint, by *models.User, req BanRequest) (*models.User, error) {
	if err := s.requireAllSites(ctx, by); err != nil {
		return nil, err
	}
	reason, err := cleanReason(req.Reason)
	if err != nil {
		return nil, err
	}
	fields := map[string]string{}
	if reason == "" {
		fields["reason"] = "required"
	}
	if h := req.DurationHours; h != nil && (*h < 1 || *h > maxBanHours) {
		fields["duration_hours"] = fmt.Sprintf("1 to %d hours; leave it out for a permanent ban", maxBanHours)
	}
	if len(fields) > 0 {
		return nil, invalid("invalid ban: "+fault.DescribeFields(fields), fields)
	}
	now := s.Now()
	kind, action := models.BanNormal, "ban"
	if req.Shadow {
		kind, action = models.BanShadow, "shadow_ban"
	}
	var until *time.Time
	if req.DurationHours != nil {
		t := now.Add(time.Duration(*req.DurationHours) * time.Hour)
		until = &t
	}
	var u models.User
	err = s.Store.WriteTx(ctx, func(tx *gorm.DB) error {
		if err := loadTarget(tx, &u, userID, by); err != nil {
			return err
		}
		updates := map[string]any{"ban_kind": kind, "banned_until": until, "ban_reason": reason, "updated_at": now}
		if kind == models.BanNormal {
			updates["token_version"] = gorm.Expr("token_version + 1")
		}
		if err := tx.Model(&models.User{}).Where("id = ?", u.ID).Updates(updates).Error; err != nil {
			return err
		}
		if err := liftBans(tx, u.ID, now); err != nil {
			return err
		}
		ban := models.Ban{UserID: u.ID, ModeratorID: by.ID, Kind: kind, Reason: reason, ExpiresAt: until, CreatedAt: now}
		if err := tx.Create(&ban).Error; err != nil {
			return err
		}
		if err := audit(tx, now, by.ID, action, "user", u.ID, reason); err != nil {
			return err
		}
		if req.Purge {
			if err := purge(tx, u.ID, by.ID, reason, now); err != nil {
				return err
			}
		}
		if err := events.Record(tx, now, events.Change{Kind: events.UserBanned, UserID: u.ID}); err != nil {
			return err
		}
		return reloadUser(tx, &u)
	})
	if err != nil {
		return nil, fmt.Errorf("ban user %d: %w", userID, err)
	}
	return &u, nil
}

// Unban lifts a user's ban, whether still in force or already run out, and
// records when in the ban's record. A user without one is ErrConflict. The
// same people may unban as may ban.
func (s *Service) Unban(ctx context.Context, userID uint, by *models.User) error {
	if err := s.requireAllSites(ctx, by); err != nil {
		return err
	}
	now := s.Now()
	err := s.Store.WriteTx(ctx, func(tx *gorm.DB) error {
		var u models.User
		if err := loadTarget(tx, &u, userID, by); err != nil {
			return err
		}
		if u.BanKind == models.BanNone {
			return refusalf(ErrConflict, "the user is not banned")
		}
		if err := tx.Model(&models.User{}).Where("id = ?", u.ID).Updates(map[string]any{
			"ban_kind": models.BanNone, "banned_until": nil, "ban_reason": "", "updated_at": now,
		}).Error; err != nil {
			return err
		}
		if err := liftBans(tx, u.ID, now); err != nil {
			return err
		}
		return audit(tx, now, by.ID, "unban", "user", u.ID, "")
	})
	if err != nil {
		return fmt.Errorf("unban user %d: %w", userID, err)
	}
	return nil
}

// loadTarget locks and loads the user a moderator acts on, and checks that
// they may: not themselves, never an admin, a moderator only as an admin.
func loadTarget(tx *gorm.DB, u *models.User, userID uint, by *models.User) error {
	if !by.IsModerator() {
		return ErrForbidden
	}
	if err := tx.Clauses(rowLock).Take(u, userID).Error; err != nil {
		return err
	}
	switch {
	case u.ID == by.ID:
		return refusalf(ErrForbidden, "you cannot ban or unban yourself")
	case u.Role == models.RoleAdmin:
		return refusalf(ErrForbidden, "an admin cannot be banned; change their role first")
	case u.Role == models.RoleModerator && by.Role != models.RoleAdmin:
		return refusalf(ErrForbidden, "only an admin can ban or unban a moderator")
	}
	return nil
}

// reloadUser reads u again into a zero value: scanning into the loaded
// struct would leave a field the update set to NULL as it was.
func reloadUser(tx *gorm.DB, u *models.User) error {
	var fresh models.User
	if err := tx.Take(&fresh, u.ID).Error; err != nil {
		return err
	}
	*u = fresh
	return nil
}

// liftBans closes the user's open ban records.
func liftBans(tx *gorm.DB, userID uint, now time.Time) error {
	return tx.Model(&models.Ban{}).Where("user_id = ? AND lifted_at IS NULL", userID).Update("lifted_at", now).Error
}

// purge rejects every pending or approved comment of a user, each with its
// flags resolved and an audit entry, and recounts the articles whose threads
// lost a comment (and the replies below it), in the caller's transaction.
func purge(tx *gorm.DB, userID, moderatorID uint, reason string, now time.Time) error {
	var rows []models.Comment
	if err := tx.Select("id", "article_id", "author_id", "status", "holds", "shadow").
		Where("author_id = ? AND status IN ?", userID, []string{models.StatusPending, models.StatusApproved}).
		Order("id").Find(&rows).Error; err != nil {
		return fmt.Errorf("load comments to purge: %w", err)
	}
	var changed []uint
	public := make([]bool, len(rows))
	for i := range rows {
		from := rows[i].Status
		if err := apply(tx, &rows[i], moderatorID, ActionReject, reason, false, now); err != nil {
			return err
		}
		if public[i] = showsDifferently(from, rows[i].Status); public[i] {
			changed = append(changed, rows[i].ArticleID)
		}
	}
	if err := recount(tx, changed...); err != nil {
		return err
	}
	return recordChanged(tx, now, events.CommentRejected, rows, public)
}

// SetRole changes a user's role; only an admin may, and an admin cannot
// demote themselves (ErrConflict), so the last admin cannot lock everyone
// out by accident. The change bumps the user's token version (tokens carry
// the role) and writes an audit entry. Setting the role a user already has
// changes nothing.
func (s *Service) SetRole(ctx context.Context, userID uint, by *models.User, role string) (*models.User, error) {
	if by == nil || by.Role != models.RoleAdmin {
		return nil, ErrForbidden
	}
	switch role {
	case models.RoleUser, models.RoleModerator, models.RoleAdmin:
	default:
		return nil, invalid("role must be user, moderator or admin", map[string]string{"role": "user, moderator or admin"})
	}
	now := s.Now()
	var u models.User
	err := s.Store.WriteTx(ctx, func(tx *gorm.DB) error {
		if err := tx.Clauses(rowLock).Take(&u, userID).Error; err != nil {
			return err
		}
		switch {
		case u.Role == role:
			return nil
		case u.ID == by.ID:
			return refusalf(ErrConflict, "you cannot change your own role; ask another admin")
		}
		from := u.Role
		if err := tx.Model(&models.User{}).Where("id = ?", u.ID).Updates(map[string]any{
			"role": role, "token_version": gorm.Expr("token_version + 1"), "updated_at": now,
		}).Error; err != nil {
			return err
		}
		if err := audit(tx, now, by.ID, "set_role", "user", u.ID, from+" → "+role); err != nil {
			return err
		}
		return reloadUser(tx, &u)
	})
	if err != nil {
		return nil, fmt.Errorf("set role of user %d: %w", userID, err)
	}
	return &u, nil
}
