#include <calling/identifiers.h>

#include <gtest/gtest.h>

using namespace calling;

TEST(Identifiers, CommunicationUsersOfEveryCloud)
{
    for (const char* raw : {"8:acs:res_0000-11", "8:spool:abc", "8:dod-acs:abc", "8:gcch-acs:abc"}) {
        CommunicationIdentifier parsed = identifierFromRawId(raw);
        ASSERT_TRUE(std::holds_alternative<CommunicationUserIdentifier>(parsed)) << raw;
        EXPECT_EQ(std::get<CommunicationUserIdentifier>(parsed).communicationUserId, raw);
        EXPECT_EQ(rawIdOf(parsed), raw);
    }
}

// As @azure/communication-common writes and reads them: "4:" and the E.164 number, '+' kept.
TEST(Identifiers, PhoneNumbersKeepTheirPlusInTheRawId)
{
    CommunicationIdentifier parsed = identifierFromRawId("4:+14255550123");
    ASSERT_TRUE(std::holds_alternative<PhoneNumberIdentifier>(parsed));
    EXPECT_EQ(std::get<PhoneNumberIdentifier>(parsed).phoneNumber, "+14255550123");
    EXPECT_EQ(rawIdOf(PhoneNumberIdentifier{"+14255550123"}), "4:+14255550123");
    EXPECT_EQ(rawIdOf(identifierFromRawId("4:+14255550123")), "4:+14255550123");
}

TEST(Identifiers, CallingApplications)
{
    CommunicationIdentifier parsed = identifierFromRawId("28:45ab2481-1c1c-4005-be24-0ffb879b1130");
    ASSERT_TRUE(std::holds_alternative<CallingApplicationIdentifier>(parsed));
    EXPECT_EQ(std::get<CallingApplicationIdentifier>(parsed).callingApplicationId,
              "45ab2481-1c1c-4005-be24-0ffb879b1130");
    EXPECT_EQ(rawIdOf(parsed), "28:45ab2481-1c1c-4005-be24-0ffb879b1130");
}

TEST(Identifiers, EverythingElseIsUnknownAndKeptAsIs)
{
    for (const char* raw : {"8:orgid:45ab2481", "8:teamsvisitor:x", "8:acs:", "28:", "hello", "", "48:x"}) {
        CommunicationIdentifier parsed = identifierFromRawId(raw);
        ASSERT_TRUE(std::holds_alternative<UnknownIdentifier>(parsed)) << raw;
        EXPECT_EQ(rawIdOf(parsed), raw);
    }
}
