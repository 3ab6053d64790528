-- The test suite's MySQL user: it may create and drop the labclimate_* databases each test file uses,
-- and create database users and grant them rights on those databases (the per-role users of `bootstrap`).
CREATE USER IF NOT EXISTS 'labclimate'@'localhost' IDENTIFIED BY 'labclimate';
CREATE USER IF NOT EXISTS 'labclimate'@'127.0.0.1' IDENTIFIED BY 'labclimate';
GRANT ALL PRIVILEGES ON `labclimate%`.* TO 'labclimate'@'localhost' WITH GRANT OPTION;
GRANT ALL PRIVILEGES ON `labclimate%`.* TO 'labclimate'@'127.0.0.1' WITH GRANT OPTION;
GRANT CREATE USER ON *.* TO 'labclimate'@'localhost';
GRANT CREATE USER ON *.* TO 'labclimate'@'127.0.0.1';
CREATE DATABASE IF NOT EXISTS labclimate;
FLUSH PRIVILEGES;
