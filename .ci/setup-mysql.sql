-- The test suite's MySQL user: it may create and drop the labclimate_* databases each test file uses.
CREATE USER IF NOT EXISTS 'labclimate'@'localhost' IDENTIFIED BY 'labclimate';
CREATE USER IF NOT EXISTS 'labclimate'@'127.0.0.1' IDENTIFIED BY 'labclimate';
GRANT ALL PRIVILEGES ON `labclimate%`.* TO 'labclimate'@'localhost';
GRANT ALL PRIVILEGES ON `labclimate%`.* TO 'labclimate'@'127.0.0.1';
CREATE DATABASE IF NOT EXISTS labclimate;
FLUSH PRIVILEGES;
