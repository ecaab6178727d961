"""Developer and analyst tooling: the local stack, sample portfolios, notebook inputs. Never
imported by a Lambda function."""
