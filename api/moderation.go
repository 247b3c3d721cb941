package api

import "github.com/labstack/echo/v4"

// registerModeration adds the moderation routes (moderators and admins).
func (h *handler) registerModeration(g *echo.Group) {}
