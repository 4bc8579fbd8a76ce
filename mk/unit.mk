# C unit tests for lib/ (owned by the lib/ work; see t/unit/).
unit:
	@true
