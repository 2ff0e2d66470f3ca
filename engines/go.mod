module github.com/berthreg/berth/engines

go 1.26
