# An image holding Coral's edgetpu_compiler, for compile.container_image on machines where the
# compiler cannot be installed natively (it exists only for x86-64 Linux, from Coral's own apt
# repository). Build once, then set `compile.container_image: edgetpu-compiler`:
#
#   docker build --platform linux/amd64 -t edgetpu-compiler -f envs/edgetpu_compiler.Dockerfile envs
#
# Not built in this project's CI (no container engine there, and no access to Coral's repository).
FROM --platform=linux/amd64 debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl gnupg \
 && curl -fsSL https://packages.cloud.google.com/apt/doc/apt-key.gpg \
      | gpg --dearmor -o /usr/share/keyrings/coral-edgetpu.gpg \
 && echo "deb [signed-by=/usr/share/keyrings/coral-edgetpu.gpg] https://packages.cloud.google.com/apt coral-edgetpu-stable main" \
      > /etc/apt/sources.list.d/coral-edgetpu.list \
 && apt-get update \
 && apt-get install -y --no-install-recommends edgetpu-compiler \
 && rm -rf /var/lib/apt/lists/*
CMD ["edgetpu_compiler", "--version"]
