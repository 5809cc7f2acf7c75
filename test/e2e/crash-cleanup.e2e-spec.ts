import { crashCleanupSuite } from '../suites/crash-cleanup.suite';
import { STANDALONE } from '../suites/deployment';

crashCleanupSuite(STANDALONE);
