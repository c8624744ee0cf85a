module github.com/appwebsocket/appws

go 1.25

require (
	github.com/cenkalti/backoff/v4 v4.3.0
	github.com/gorilla/websocket v1.5.3
	go.uber.org/goleak v1.3.0
)
