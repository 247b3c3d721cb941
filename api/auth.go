package api

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/parley-comments/parley/auth"
)

type registerRequest struct {
	Username    string `json:"username"`
	Password    string `json:"password"`
	Email       string `json:"email"`
	DisplayName string `json:"display_name"`
}

type loginRequest struct {
	Login    string `json:"login"`
	Password string `json:"password"`
}

type refreshRequest struct {
	RefreshToken string `json:"refresh_token"`
}

type passwordRequest struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

type sessionView struct {
	User         userView `json:"user"`
	AccessToken  string   `json:"access_token"`
	RefreshToken string   `json:"refresh_token"`
	ExpiresIn    int      `json:"expires_in"`
}

type meView struct {
	User userView `json:"user"`
}

func newSessionView(s *auth.Session) sessionView {
	return sessionView{User: newUserView(s.User, s.User), AccessToken: s.AccessToken, RefreshToken: s.RefreshToken, ExpiresIn: s.ExpiresIn}
}

// POST /api/v1/auth/register
func (h *handler) register(c echo.Context) error {
	var req registerRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	s, err := h.accounts.Register(c.Request().Context(), auth.Registration{Username: req.Username, Password: req.Password, Email: req.Email, DisplayName: req.DisplayName})
	if err != nil {
		return err
	}
	if s.User.Email != nil && h.cfg.Mail {
		// The account exists either way; a verification mail that could not
		// be queued can be asked for again (POST /auth/email-verification).
		if err := h.identity.SendVerification(c.Request().Context(), s.User); err != nil {
			h.log.Warn("queue verification mail", "user", s.User.ID, "err", err)
		}
	}
	return c.JSON(http.StatusCreated, newSessionView(s))
}

// POST /api/v1/auth/login
func (h *handler) login(c echo.Context) error {
	var req loginRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	s, err := h.accounts.Login(c.Request().Context(), req.Login, req.Password)
	var throttled *auth.ThrottledError
	var guessing *auth.GuessingError
	switch {
	case errors.As(err, &throttled):
		h.securityEvent(c, eventLoginThrottled, "user_id", throttled.UserID, "wait_seconds", int(throttled.Wait.Seconds()))
	case errors.As(err, &guessing):
		h.securityEvent(c, eventPasswordGuessing, "user_id", guessing.UserID, "failures", guessing.Failures, "delay_seconds", int(guessing.Delay.Seconds()))
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newSessionView(s))
}

// POST /api/v1/auth/refresh
func (h *handler) refresh(c echo.Context) error {
	var req refreshRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	s, err := h.accounts.Refresh(c.Request().Context(), req.RefreshToken)
	var reused *auth.ReusedError
	if errors.As(err, &reused) {
		h.securityEvent(c, eventRefreshReuse, "user_id", reused.UserID)
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newSessionView(s))
}

// POST /api/v1/auth/logout
func (h *handler) logout(c echo.Context) error {
	var req refreshRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if err := h.accounts.Logout(c.Request().Context(), req.RefreshToken); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// POST /api/v1/auth/password
func (h *handler) changePassword(c echo.Context) error {
	var req passwordRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if err := h.accounts.ChangePassword(c.Request().Context(), currentUser(c), req.CurrentPassword, req.NewPassword); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// GET /api/v1/me
func (h *handler) me(c echo.Context) error {
	u := currentUser(c)
	return c.JSON(http.StatusOK, meView{User: newUserView(u, u)})
}
