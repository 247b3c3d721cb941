package api

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// maxBody bounds request bodies; a comment's 10,000 characters fit with
// room. KiB: Echo reads a bare "K" as 1,000 bytes.
const maxBody = "64KiB"

// routes registers every route in one place.
func (h *handler) routes(e *echo.Echo) {
	rl := newRateLimits(h.cfg, h.mod)
	e.Use(h.metrics.instrument, h.recoverPanics, requestID, h.requestLog, securityHeaders, compression(), h.cors(), h.guardWrites, saneURL,
		middleware.BodyLimitWithConfig(middleware.BodyLimitConfig{Limit: maxBody, Skipper: isUpload}), h.authenticate)

	e.GET("/healthz", h.healthz)
	e.GET("/readyz", h.readyz)
	if h.cfg.MetricsMux != nil {
		h.cfg.MetricsMux.Handle("/metrics", h.metrics.httpHandler(h.log))
	} else {
		e.GET("/metrics", h.metrics.handler(h.log))
	}

	// No group middleware: Echo would add a catch-all route to the group,
	// which answers 404 where a wrong method deserves 405 with Allow.
	v1 := e.Group("/api/v1")
	v1.GET("/openapi.json", h.openAPI)
	v1.GET("/config", h.publicConfig)

	v1.POST("/auth/register", h.register, rl.byIP("register"))
	v1.POST("/auth/login", h.login, rl.byIP("login"))
	v1.POST("/auth/refresh", h.refresh)
	v1.POST("/auth/logout", h.logout)
	v1.POST("/auth/password", h.changePassword, requireUser, rl.byIP("password"), rl.byUser("password"))
	v1.GET("/me", h.me, requireUser)
	v1.PUT("/me/email", h.changeEmail, requireUser, rl.byIP("mail"), rl.byUser("mail"))
	v1.POST("/auth/email-verification", h.resendVerification, requireUser, rl.byIP("mail"), rl.byUser("mail"))
	v1.POST("/auth/magic-link", h.requestSignIn, rl.byIP("mail"))
	v1.POST("/auth/magic-link/redeem", h.redeemSignIn, rl.byIP("redeem"))
	v1.POST("/auth/password-reset", h.requestReset, rl.byIP("mail"))
	v1.POST("/auth/password-reset/redeem", h.redeemReset, rl.byIP("redeem"))
	v1.POST("/auth/providers/:provider/flows", h.startProviderFlow, rl.byIP("provider"))
	v1.POST("/auth/providers/complete", h.completeProviderFlow, rl.byIP("redeem"))
	v1.POST("/auth/identities/confirm", h.confirmIdentityLink, rl.byIP("redeem"))
	v1.PATCH("/me", h.updateProfile, requireUser, rl.byUser("profile"))
	v1.DELETE("/me", h.deleteMe, requireUser, rl.byUser("delete-account"))
	v1.GET("/me/comments", h.listMyComments, requireUser)
	v1.GET("/me/export", h.exportMe, requireUser, rl.byUser("export"))
	v1.GET("/me/identities", h.listIdentities, requireUser)
	v1.DELETE("/me/identities/:id", h.unlinkIdentity, requireUser)

	v1.GET("/articles", h.listArticles)
	v1.GET("/articles/:slug", h.getArticle)
	v1.POST("/articles", h.createArticle, requireAdmin)
	v1.PATCH("/articles/:slug", h.updateArticle, requireAdmin)
	v1.DELETE("/articles/:slug", h.deleteArticle, requireAdmin)

	v1.GET("/articles/:slug/comments", h.listComments)
	v1.POST("/articles/:slug/comments", h.createComment, rl.posting)
	v1.GET("/comments/:id", h.getComment)
	v1.GET("/comments/:id/replies", h.listReplies)
	v1.PATCH("/comments/:id", h.updateComment, requireUser, rl.byUser("edit"))
	v1.DELETE("/comments/:id", h.deleteComment, requireUser, rl.byUser("delete"))
	v1.PUT("/comments/:id/vote", h.voteComment, requireUser, rl.byUser("vote"))
	v1.POST("/comments/:id/flags", h.flagComment, requireUser, rl.byUser("flag"))
	v1.GET("/counts", h.counts)
	v1.GET("/articles/:slug/live", h.liveThread)
	v1.GET("/sites/:site/live", h.liveSiteThread)

	v1.GET("/feeds/articles/:slug", h.threadFeed)
	v1.GET("/feeds/sites/:site", h.siteFeed)
	v1.GET("/feeds/replies/:token", h.repliesFeed)
	v1.POST("/me/replies-feed", h.newRepliesFeed, requireUser)
	v1.DELETE("/me/replies-feed", h.revokeRepliesFeed, requireUser)

	v1.GET("/webhooks", h.listWebhooks, requireAdmin)
	v1.POST("/webhooks", h.createWebhook, requireAdmin)
	v1.GET("/webhooks/:id", h.getWebhook, requireAdmin)
	v1.PATCH("/webhooks/:id", h.updateWebhook, requireAdmin)
	v1.DELETE("/webhooks/:id", h.deleteWebhook, requireAdmin)
	v1.GET("/webhooks/:id/deliveries", h.listDeliveries, requireAdmin)
	v1.POST("/webhooks/:id/deliveries/:delivery/replay", h.replayDelivery, requireAdmin)

	v1.POST("/admin/imports", h.createImport, requireAdmin)
	v1.GET("/admin/imports/:id", h.getImport, requireAdmin)
	v1.GET("/admin/export", h.exportAll, requireAdmin)

	h.registerModeration(v1)
	h.registerSites(v1, rl)
	h.registerPages(e)
	h.registerAdminPage(e)
	h.registerAccountPages(e)
	headForEveryGet(e) // last: it covers every GET route above
}

// isUpload exempts the import upload from maxBody; it bounds its own body
// (importer.MaxUpload).
func isUpload(c echo.Context) bool {
	return c.Request().Method == http.MethodPost && c.Path() == "/api/v1/admin/imports"
}
