"""Root conftest: loads the fixtures that every suite shares."""

pytest_plugins = ["testsupport.fixtures"]
