"""spark-submit entry point: spark-submit [--master ...] python_jobs/run_recommender.py [options]."""

import sys

from olist_recommender.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
