module raykube.dev/tools/pause

go 1.24.0
