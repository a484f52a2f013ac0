module vmstorm-audit

go 1.26
