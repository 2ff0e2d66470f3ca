module github.com/berthreg/berth/e2e

go 1.26
