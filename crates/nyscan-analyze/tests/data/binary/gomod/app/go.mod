module example.com/app

go 1.18

require (
	example.com/greet v1.0.0
	example.com/quote v1.4.0
)

replace example.com/greet => ../greet
