# llmd-doctor for in-cluster use (deploy/job.yaml, deploy/cronjob.yaml).
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
COPY checks ./checks
COPY templates ./templates
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
RUN useradd --uid 10001 --no-create-home doctor
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER 10001
ENV PYTHONDONTWRITEBYTECODE=1 NO_COLOR=1
ENTRYPOINT ["llmd-doctor"]
CMD ["check"]
