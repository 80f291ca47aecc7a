"""Reports from the public: the /report page, its API, abuse protection, demo reports."""
