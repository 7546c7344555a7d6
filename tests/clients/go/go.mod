module github.com/rejoinder/rejoinder/tests/clients/go

go 1.19

require (
	github.com/rejoinder/rejoinder/clients/go v0.0.0-00010101000000-000000000000
	google.golang.org/grpc v1.33.3
)

require (
	github.com/golang/protobuf v1.5.2 // indirect
	golang.org/x/net v0.3.0 // indirect
	golang.org/x/sys v0.5.0 // indirect
	golang.org/x/text v0.7.0 // indirect
	google.golang.org/genproto v0.0.0-20200526211855-cb27e3aa2013 // indirect
	google.golang.org/protobuf v1.28.1 // indirect
)

replace github.com/rejoinder/rejoinder/clients/go => ../../../clients/go
